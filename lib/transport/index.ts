export { grpcTransport, resolveServiceAddress, type TlsClientOptions } from "./grpc-transport.ts";
