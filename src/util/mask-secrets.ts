/**
 * A message with the password of every URL in it replaced by ***: configuration errors and driver
 * messages sometimes quote the DATABASE_URL or REDIS_URL they were given.
 */
export function maskUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]*@/gi, '$1***@');
}
