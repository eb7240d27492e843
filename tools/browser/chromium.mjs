// Finds Debian's Chromium for the browser tests, installing it with apt-get when it is missing
// (CI runs as root). CHROMIUM_PATH overrides.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  let found = candidates.find((p) => existsSync(p));
  if (!found) {
    console.log('browser test: installing Debian chromium (apt-get)...');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    found = candidates.find((p) => existsSync(p));
  }
  if (!found) throw new Error('no Chromium found; install Debian `chromium` or set CHROMIUM_PATH');
  return found;
}
