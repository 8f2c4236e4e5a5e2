import { mountHeader, showConnection } from "./common.js";
import { startAuth } from "./auth.js";

mountHeader();
showConnection("open", "");
document.getElementById("conn").hidden = true;
// The header says who you are on this page too.
await startAuth();
