// The /lab page: mount the full lab. (A file, not an inline script: the CSP allows no inline code.)
// Story mode is off here until the student switches it on; their choice is remembered.
import { mountLab } from "./mount.js";

mountLab(document.getElementById("lab"), { preset: "classroom", controls: "all", shareUrl: true, keyboard: true,
                                           story: false, storyMemory: "lab" });
