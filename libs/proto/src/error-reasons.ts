// `google.rpc.ErrorInfo.reason` values a client branches on beyond the status code's own name:
// part of the API like the messages (each is documented on the methods that send it), so that a
// caller never has to match an error's message text.
export const ErrorReason = {
  /**
   * TranslateGroupOffsets, CommitTranslatedOffsets (NOT_FOUND): the consumer group has no
   * committed offsets on the topics asked about, so there is nothing to translate. Any other
   * NOT_FOUND of these methods (an unknown flow) has another reason.
   */
  NO_COMMITTED_OFFSETS: "NO_COMMITTED_OFFSETS",
} as const;

export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];
