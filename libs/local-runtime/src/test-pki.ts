// A certificate authority and certificates made with openssl for tests and the local demo:
// servers get SANs for localhost and 127.0.0.1, so clients verify them by address.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestPki {
  readonly dir: string;
  /** The CA's certificate, to trust. */
  readonly caFile: string;
  /**
   * A certificate signed by this CA with subject CN `name` and SANs localhost, 127.0.0.1 and
   * `name`, valid for servers and clients. Written to `<dir>/<file ?? name>.pem` and `-key.pem`.
   */
  issue(name: string, options?: { file?: string; days?: number }): TestCertificate;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Creates a CA named `name` in `dir` (created if missing). */
export function createTestPki(dir: string, name = "geo-test-ca"): TestPki {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, `${name}-key.pem`);
  const caFile = join(dir, `${name}.pem`);
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
      .concat(["-keyout", caKey, "-out", caFile, "-days", "3650", "-subj", `/CN=${name}`])
      .concat(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign"]),
    dir,
  );
  let serial = Date.now();
  return {
    dir,
    caFile,
    issue(subject, options = {}) {
      const base = join(dir, options.file ?? subject);
      const keyFile = `${base}-key.pem`;
      const certFile = `${base}.pem`;
      const csr = `${base}.csr`;
      const ext = `${base}.ext`;
      openssl(
        ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
          "-keyout",
          keyFile,
          "-out",
          csr,
          "-subj",
          `/CN=${subject}`,
        ]),
        dir,
      );
      writeFileSync(
        ext,
        [
          `subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:${subject}`,
          "extendedKeyUsage=serverAuth,clientAuth",
          "basicConstraints=CA:FALSE",
          "",
        ].join("\n"),
      );
      openssl(
        ["x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-out", certFile]
          .concat(["-days", String(options.days ?? 30), "-set_serial", String(serial++)])
          .concat(["-extfile", ext]),
        dir,
      );
      return { certFile, keyFile };
    },
  };
}
