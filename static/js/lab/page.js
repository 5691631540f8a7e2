// The /lab page: mount the full lab. (A file, not an inline script: the CSP allows no inline code.)
import { mountLab } from "./mount.js";

mountLab(document.getElementById("lab"), { preset: "classroom", controls: "all", shareUrl: true, keyboard: true });
