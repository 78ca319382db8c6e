/**
 * The encoder that ships inside the package: `models/demo-encoder/` (4 layers, 128 wide, WordPiece
 * vocabulary and MLM pretraining by PromptGrad itself; see its README). Resolved from this module's
 * own location, so it works from a clone and from an install (dist/ sits one folder deep, as models/ does).
 */
import { fileURLToPath } from 'node:url';

export const DEMO_ENCODER: string = fileURLToPath(new URL('../models/demo-encoder/', import.meta.url));
