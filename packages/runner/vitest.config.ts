import { packageProject } from '../../tools/vitest.shared';

export default packageProject('runner');
