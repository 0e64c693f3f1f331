// What the following producer and the following consumer have in common, given and offered.
import type { Logger } from "@geo/logging";
import type { RegionFollower } from "./region-follower";
import type { KafkaConfigForRegion } from "./region-switch";

export interface FollowingClientOptions {
  readonly follower: RegionFollower;
  /** kafkajs settings per region (ssl, sasl, clientId...). */
  readonly kafkaConfig?: KafkaConfigForRegion;
  readonly clientId?: string;
  readonly logger?: Logger;
}

export interface FollowingClient {
  /** Resolves once in the active region (or waiting, while it drains). */
  start(): Promise<void>;
  /** Region the client uses now; undefined while it waits for one. */
  region(): string | undefined;
  /** Regions used so far, in order (for operators and tests). */
  readonly history: readonly string[];
  close(): Promise<void>;
}
