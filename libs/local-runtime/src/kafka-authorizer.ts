import type {
  AuthorizerOptions,
  PropertyValue,
  SecureListenerOptions,
} from "./kafka-cluster-types";

/** The SECURE listener and broker entries of an authorizer-enabled cluster. */
export function authorizerSettings(authorizer: AuthorizerOptions): {
  secure: SecureListenerOptions;
  properties: Record<string, PropertyValue>;
} {
  const unknown = authorizer.superUsers.filter((name) => authorizer.users[name] === undefined);
  if (unknown.length > 0) {
    throw new RangeError(
      `authorizer.superUsers names ${unknown.join(", ")}, not in authorizer.users: add their passwords`,
    );
  }
  const jaasUsers = Object.entries(authorizer.users)
    .map(([name, password]) => `user_${name}="${password}"`)
    .join(" ");
  return {
    secure: {
      protocol: "SASL_PLAINTEXT",
      properties: {
        "listener.name.secure.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.secure.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ${jaasUsers};`,
      },
    },
    properties: {
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "allow.everyone.if.no.acl.found": true,
      // ANONYMOUS: the PLAINTEXT and CONTROLLER listeners, i.e. the brokers and the harness.
      "super.users": [
        "User:ANONYMOUS",
        ...authorizer.superUsers.map((name) => `User:${name}`),
      ].join(";"),
    },
  };
}

/** kafka-storage format arguments that write the SECURE listener's SCRAM credentials. */
export function scramFormatArgs(secure: SecureListenerOptions | undefined): string[] {
  return (secure?.scramUsers ?? []).flatMap((user) => [
    "--add-scram",
    `${user.mechanism}=[name=${user.name},password=${user.password}]`,
  ]);
}
