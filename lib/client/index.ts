import { type Client, createClient } from "@connectrpc/connect";
import { DroverError } from "../errors/index.ts";
import { readTextIfExists } from "../files/index.ts";
import { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import { readEndpoints, serverPaths } from "../server/index.ts";
import { grpcTransport } from "../transport/index.ts";

export type OperatorClient = Client<typeof OperatorService>;

/**
 * An operator client that uses the admin credential `drover server` keeps in
 * its data dir, like a kubeconfig.
 */
export async function operatorClientFromDataDir(dataDir: string): Promise<OperatorClient> {
  const paths = serverPaths(dataDir);
  const endpoints = await readEndpoints(dataDir);
  const [caPem, certificatePem, privateKeyPem] = await Promise.all([
    readTextIfExists(paths.caCertificate),
    readTextIfExists(paths.adminCertificate),
    readTextIfExists(paths.adminKey),
  ]);
  if (caPem === undefined || certificatePem === undefined || privateKeyPem === undefined) {
    throw new DroverError(
      "failed_precondition",
      `no admin credential in ${dataDir} (ca.pem, admin.pem, admin.key); is this the server's --data-dir?`,
    );
  }
  return createClient(
    OperatorService,
    grpcTransport(endpoints.operator, { caPem, certificatePem, privateKeyPem }),
  );
}
