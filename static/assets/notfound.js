import { mountHeader, showConnection } from "./common.js";

mountHeader();
showConnection("open", "");
document.getElementById("conn").hidden = true;
