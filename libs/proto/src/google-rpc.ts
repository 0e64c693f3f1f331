// google.rpc of the rich error model (status.proto and error_details.proto share the package).
export * from "./gen/google/rpc/error_details_pb.js";
export * from "./gen/google/rpc/status_pb.js";
