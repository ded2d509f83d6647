package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;

/**
 * Trust for TLS from a PEM bundle ({@code AWS_CA_BUNDLE}), as the AWS CLI reads it: the
 * certificates in the file are trusted instead of the JVM's default store — an on-prem
 * MinIO or Ceph RGW with a private CA. Errors name the file.
 */
final class Tls {
    private Tls() {
    }

    static X509TrustManager trustManager(Path pem) {
        Collection<? extends Certificate> certs;
        try (InputStream in = Files.newInputStream(pem)) {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (IOException e) {
            throw new BadConfigurationException("cannot read the CA bundle " + pem + " (AWS_CA_BUNDLE): " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new BadConfigurationException("the CA bundle " + pem + " (AWS_CA_BUNDLE) is not a PEM file of certificates: "
                    + e.getMessage());
        }
        if (certs.isEmpty()) {
            throw new BadConfigurationException("the CA bundle " + pem + " (AWS_CA_BUNDLE) holds no certificate");
        }
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : certs) {
                ks.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("no X.509 trust manager in " + tmf.getAlgorithm());
        } catch (GeneralSecurityException | IOException e) {
            throw new BadConfigurationException("cannot use the CA bundle " + pem + ": " + e.getMessage());
        }
    }

    static SSLContext context(X509TrustManager tm) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[]{tm}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS is not available in this JVM: " + e.getMessage(), e);
        }
    }
}
