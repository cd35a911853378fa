/** Reverse DNS of sending hosts: PTR records that resolve back to the address (forward-confirmed) and match HELO. */
export { reverseLookupName, canonicalIp, composePtrRecords } from './compose.js';
export {
  checkReverseDns,
  auditReverseDns,
  sendingAddressesFromDns,
  sendingAddressesFromPlan,
  type SendingAddress,
  type ReverseDnsResult,
  type ReverseDnsReport,
  type ReverseDnsState,
} from './evaluate.js';
