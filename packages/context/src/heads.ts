// The classifier head lives in @ssl/encoders (shared by every family); re-exported here.
export { classifierHead } from '@ssl/encoders';
