//! TLS client for probing services behind SSL/TLS.
//!
//! Version detection wants to talk to the service, not to authenticate it:
//! self-signed, expired and mismatched certificates are the norm on scanned
//! hosts, so no certificate or signature is verified. Nothing learnt over
//! these connections is trusted beyond being matched against the database.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

/// Accepts any certificate; see the module comment for why.
#[derive(Debug)]
struct AcceptAnything {
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// A connector shared by every TLS probe of a scan (and by NSE's script
/// sockets).
pub fn connector() -> Result<TlsConnector, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let schemes = provider
        .signature_verification_algorithms
        .supported_schemes();
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnything { schemes }))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name sent in SNI: the host name when the user gave one, else the
/// address (rustls then sends no SNI, as for any IP literal).
pub fn server_name(host: Option<&str>, addr: std::net::IpAddr) -> ServerName<'static> {
    host.and_then(|h| ServerName::try_from(h.to_owned()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(addr.into()))
}
