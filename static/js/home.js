// Home page: only shows that the live connection works.
import { connect } from "./connection.js";

connect("/");
