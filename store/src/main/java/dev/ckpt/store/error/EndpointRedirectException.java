package dev.ckpt.store.error;

/**
 * The server answered with a redirect (HTTP 3xx other than 304), which S3 clients do not
 * follow: an ingress that sends {@code http://} to {@code https://}, another host, or a bucket
 * of another AWS region. The message says to set the endpoint or the region. Retrying will not
 * help; it says nothing about what the server supports, so a conditional-write probe that meets
 * it gives no verdict.
 */
public final class EndpointRedirectException extends BadConfigurationException {
    public EndpointRedirectException(String message, Throwable cause) {
        super(message, cause);
    }
}
