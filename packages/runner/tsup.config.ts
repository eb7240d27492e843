import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tools/tsup';

export default defineConfig(libraryConfig());
