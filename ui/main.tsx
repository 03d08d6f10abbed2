import { render } from "preact";
import { App } from "./app.tsx";
import { startRouter } from "./router.ts";
import { loadMe } from "./session.ts";

startRouter();
void loadMe();
const root = document.getElementById("app");
if (root) render(<App />, root);
