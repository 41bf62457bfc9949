import { singleShotFilter } from './single-shot-filter.js';

/** `filter.git-seal.clean`: the single-shot fallback for git versions or setups without the process filter. */
export const cleanCommand = singleShotFilter('clean');
