import { WelcomeRequestSchema, WelcomeSchema } from "../gen/drover/v1/session_pb.ts";
import { defineCallKind } from "./handlers.ts";

/**
 * The agent's first call on a new session: the server's answer means the
 * session is accepted, whether or not a delivery follows, and names the
 * server's version.
 */
export const welcomeCall = defineCallKind("session.welcome", WelcomeRequestSchema, WelcomeSchema);
