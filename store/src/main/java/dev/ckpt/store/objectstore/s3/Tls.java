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
 * MinIO or Ceph RGW with a private CA. Errors name the file. And the AWS client's
 * {@code https} socket factory for an {@code http://} endpoint, which sets up no TLS until
 * a TLS connection is asked for ({@link LazyApacheTls}).
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

    /**
     * The socket factory of the {@code https} scheme for a client of an {@code http://}
     * endpoint: the JDK's default TLS, set up when a TLS connection is first asked for. The
     * SDK's own factory is built with the client: it loads the JDK's trust store and sets up a
     * TLS context, 70-100 ms of every CLI run against such an endpoint (docs/benchmarks.md,
     * "TLS set-up"), for connections that are not made: requests go to the endpoint. Should
     * one be made, it gets what the SDK's factory gives for such an endpoint: the JDK's default
     * trust, host-name checks, and the key managers of the {@code javax.net.ssl.keyStore}
     * properties.
     */
    static final class LazyApacheTls implements org.apache.http.conn.socket.LayeredConnectionSocketFactory {
        private volatile org.apache.http.conn.ssl.SSLConnectionSocketFactory tls;

        /** The factory, made on first use. */
        org.apache.http.conn.ssl.SSLConnectionSocketFactory tls() {
            org.apache.http.conn.ssl.SSLConnectionSocketFactory t = tls;
            if (t == null) {
                synchronized (this) {
                    t = tls;
                    if (t == null) {
                        tls = t = new org.apache.http.conn.ssl.SSLConnectionSocketFactory(context(),
                                org.apache.http.conn.ssl.SSLConnectionSocketFactory.getDefaultHostnameVerifier());
                    }
                }
            }
            return t;
        }

        private static javax.net.ssl.SSLContext context() {
            try {
                javax.net.ssl.SSLContext c = javax.net.ssl.SSLContext.getInstance("TLS");
                c.init(software.amazon.awssdk.http.SystemPropertyTlsKeyManagersProvider.create().keyManagers(), null, null);
                return c;
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("the JDK offers no TLS: " + e.getMessage(), e);
            }
        }

        /** Whether the TLS factory has been made. */
        boolean made() {
            return tls != null;
        }

        @Override
        public java.net.Socket createSocket(org.apache.http.protocol.HttpContext context) throws java.io.IOException {
            return tls().createSocket(context);
        }

        @Override
        public java.net.Socket connectSocket(int connectTimeout, java.net.Socket socket, org.apache.http.HttpHost host,
                                             java.net.InetSocketAddress remote, java.net.InetSocketAddress local,
                                             org.apache.http.protocol.HttpContext context) throws java.io.IOException {
            return tls().connectSocket(connectTimeout, socket, host, remote, local, context);
        }

        @Override
        public java.net.Socket createLayeredSocket(java.net.Socket socket, String target, int port,
                                                   org.apache.http.protocol.HttpContext context) throws java.io.IOException {
            return tls().createLayeredSocket(socket, target, port, context);
        }
    }
}
