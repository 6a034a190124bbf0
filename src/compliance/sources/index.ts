export { complianceFactSource } from './self.js';
export {
  observeTimeSync,
  parseChronyAuthdata,
  parseChronyTracking,
  parseTimedatectl,
  runCommand,
  timeFactSource,
  type CommandResult,
  type CommandRunner,
  type TimeSync,
} from './time.js';
