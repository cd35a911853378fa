/** Test messages: sign with DKIM, verify DKIM/SPF/DMARC as a receiver would. */
export * from './message.js';
export * from './sign.js';
export * from './dkim.js';
export * from './verify.js';
