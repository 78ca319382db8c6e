// Lets Node run TypeScript directly: `node --import ./scripts/register.mjs file.ts`.
import { register } from 'node:module';
register('./ts-loader.mjs', import.meta.url);
