/** This stage's settings (see stage.ts), resolved once for every infra module. */
import { stageSettings } from "./stage";

export const settings = stageSettings($app.stage, process.env);
