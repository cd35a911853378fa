/** OpenDKIM defaults the CLI shows in its help, apart from the composer. */
export const DEFAULT_SOCKET = 'inet:8891@localhost';
