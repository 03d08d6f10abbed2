/** The shapes of test/contract/nxmesh-examples.ts, which scripts/extract-nxmesh-examples.ts writes from the NxMesh seed. */

export type SeedJson = null | boolean | number | string | SeedJson[] | { [key: string]: SeedJson };

/** One `METHOD /path` example of the seed's REST section, as the seed writes it. */
export interface SeedRestExample {
  /** `${method} ${path}`, e.g. "GET /organizations/{organization_id}". */
  operation: string;
  /** The `###` heading it sits under, e.g. "Organizations". */
  section: string;
  /** Its `####` heading, e.g. "Get Organization". */
  title: string;
  method: string;
  /** The path with the seed's `{placeholders}`, relative to the base URL. */
  path: string;
  /** The query string as written, without `?`; "" when there is none. */
  query: string;
  /** The request headers as written (`Authorization: Bearer {token}` included). */
  headers: Record<string, string>;
  /** The JSON body as written, when the example has one. */
  body?: SeedJson;
  /** The response example that follows it, when the seed gives one. */
  response?: SeedJson;
  /** The lead-in of the response example, e.g. "Response includes health details:". */
  responseNote?: string;
  /** The "Query Parameters:" list that follows it: each name, its text, its back-quoted values. */
  queryParameters?: { name: string; text: string; quoted: string[] }[];
}

/** One event example of the seed's WebSocket section. */
export interface SeedEventExample {
  /** Its `####` heading, e.g. "Agent Connected". */
  title: string;
  message: { [key: string]: SeedJson };
}

export interface SeedExamples {
  /** The seed file's name and the SHA-256 of its text, so a changed seed is noticed. */
  source: { file: string; sha256: string };
  /** The REST base URL the seed gives (paths below are relative to it). */
  baseUrl: string;
  rest: SeedRestExample[];
  /** The "Error Responses" example and its table of codes. */
  errors: {
    example: { [key: string]: SeedJson };
    codes: { code: string; status: number; description: string }[];
  };
  websocket: {
    /** The connection URL of the seed's example, `{jwt_token}` placeholder included. */
    url: string;
    events: SeedEventExample[];
    /** The subscribe message as written. */
    subscribe: { [key: string]: SeedJson };
  };
  /** The master–agent proto's enums (without the `*_UNSPECIFIED` value), e.g. DeploymentMode. */
  protoEnums: Record<string, string[]>;
  /** Proto fields whose comment lists their values, e.g. "Alert.severity". */
  protoFieldValues: Record<string, string[]>;
}
