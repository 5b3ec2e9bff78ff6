import { createSweepHandler } from "../packages/aws/src/handlers/sweep";

/** Hourly: pending calls whose entity maps never arrived become `id.unmapped` rejects. */
export const handler = createSweepHandler();
