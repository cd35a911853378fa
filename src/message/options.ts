/** The signing choices a caller can make, apart from the signer (which loads mailauth). */
export type SignAlgorithm = 'rsa-sha256' | 'ed25519-sha256';
export const SIGN_ALGORITHMS: readonly SignAlgorithm[] = ['rsa-sha256', 'ed25519-sha256'];
export type Canonicalization = 'relaxed/relaxed' | 'relaxed/simple' | 'simple/relaxed' | 'simple/simple';
export const CANONICALIZATIONS: readonly Canonicalization[] = ['relaxed/relaxed', 'relaxed/simple', 'simple/relaxed', 'simple/simple'];
