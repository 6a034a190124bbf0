/**
 * Passwords that attackers try first. Only entries of 12 characters or more matter (shorter ones fail
 * the length rule anyway), plus the stems that people pad to 12 with digits or symbols: a password whose
 * letters-only or digits-stripped form is a stem here is refused as well. Operators can add their own
 * list with `identity.password.denyListFile`.
 */
export const COMMON_PASSWORD_STEMS: readonly string[] = [
  'password', 'passw0rd', 'p@ssword', 'p@ssw0rd', 'pass', 'passwort', 'motdepasse', 'contrasena', 'senha',
  'qwerty', 'qwertyuiop', 'qwertz', 'azerty', 'asdfgh', 'asdfghjkl', 'zxcvbn', 'zxcvbnm', '1qaz2wsx', 'qazwsx',
  'abc', 'abcdef', 'abcdefgh', 'abcdefghijkl', 'letmein', 'welcome', 'welcome1', 'iloveyou', 'admin', 'administrator',
  'root', 'toor', 'master', 'changeme', 'changeit', 'default', 'guest', 'user', 'login', 'secret', 'security',
  'monkey', 'dragon', 'football', 'baseball', 'soccer', 'hockey', 'basketball', 'superman', 'batman', 'starwars',
  'princess', 'sunshine', 'shadow', 'michael', 'jennifer', 'jordan', 'hunter', 'trustno1', 'whatever', 'freedom',
  'computer', 'internet', 'samsung', 'google', 'microsoft', 'apple', 'summer', 'winter', 'spring', 'autumn',
  'january', 'february', 'december', 'monday', 'friday', 'hello', 'helloworld', 'test', 'testing', 'tester',
  'camera', 'cctv', 'video', 'surveillance', 'security', 'operator', 'control', 'controlroom', 'scada', 'plant',
  'hikvision', 'dahua', 'axis', 'milestone', 'genetec', 'palisade', 'vms', 'nvr', 'dvr', 'onvif', 'system',
  'manager', 'service', 'support', 'backup', 'server', 'network', 'database', 'oracle', 'mysql', 'postgres',
  'company', 'office', 'letmein1', 'access', 'accessgranted', 'opensesame', 'mypassword', 'yourpassword',
  'nopassword', 'newpassword', 'oldpassword', 'temppassword', 'temp', 'temporary', 'initial', 'start',
  'qwerty123', 'password123', 'administrator1', 'loveyou', 'lovely', 'beautiful', 'angel', 'flower', 'cookie',
  'chocolate', 'pokemon', 'minecraft', 'fortnite', 'killer', 'matrix', 'ninja', 'mustang', 'ferrari', 'porsche',
];

/** Whole passwords of 12+ characters seen at the top of breach corpora. */
export const COMMON_PASSWORDS: readonly string[] = [
  '123456789012', '1234567890123', '12345678901234', '123456123456', '111111111111', '000000000000',
  '123123123123', '121212121212', '987654321098', '123412341234', '112233445566', '147258369147',
  'qwertyuiop12', 'qwertyuiop123', 'qwerty123456', '1q2w3e4r5t6y', '1q2w3e4r5t6y7u', 'q1w2e3r4t5y6',
  'password1234', 'password12345', 'password123!', 'Password1234', 'Password123!', 'P@ssw0rd1234',
  'iloveyou1234', 'administrator', 'Administrator1', 'welcome12345', 'Welcome12345', 'letmein12345',
  'abcdefghijkl', 'abc123abc123', 'aaaaaaaaaaaa', 'zaq12wsxcde3', '1qaz2wsx3edc', 'qazwsxedcrfv',
  'asdfghjkl123', 'zxcvbnm12345', 'changeme1234', 'Changeme123!', 'trustno1trustno1', 'monkey123456',
];
