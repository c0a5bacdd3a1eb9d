/**
 * Built-in HTTPS for deployments without a TLS proxy: TLS_CERT and TLS_KEY name PEM files (the certificate
 * file may hold the chain after the leaf). SIGHUP re-reads them, so a renewed certificate (certbot, an ACME
 * client, a mounted Kubernetes secret) takes effect for new connections without a restart.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** Reads and checks the pair: a missing file, a broken PEM or a key that is not the certificate's fails here. */
export function readCertificate(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`${name}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  const pair = { cert: read('TLS_CERT', files.certFile), key: read('TLS_KEY', files.keyFile) };
  try {
    createSecureContext(pair);
  } catch (e) {
    // OpenSSL's message ("key values mismatch", "no start line") names the problem, never the key material.
    throw new Error(
      `TLS_CERT/TLS_KEY (${files.certFile}, ${files.keyFile}) are not a usable PEM certificate and key: ${(e as Error).message}`,
    );
  }
  return pair;
}

/**
 * Re-reads the files and installs them for new connections; connections already open keep theirs. On any
 * error the certificate in use stays, and the error is thrown for the caller to log.
 */
export function reloadCertificate(server: TlsServer, files: TlsFiles): void {
  server.setSecureContext(readCertificate(files));
}
