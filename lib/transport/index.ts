export { droverErrorInterceptor, toConnectError } from "./connect-errors.ts";
export { grpcTransport, resolveServiceAddress, type TlsClientOptions } from "./grpc-transport.ts";
