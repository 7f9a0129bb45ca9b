using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Distributed.Cluster;

/// <summary>
/// This node's certificate and the rule for accepting a peer's: it must chain to the cluster's authority, or,
/// without an authority, be the very certificate this node holds. Akka.Remote and the tensor channel both use
/// it, on the client and the server side, so a node without the cluster's certificate gets nowhere.
/// Host names are not checked: nodes are addressed by IP and the authority is private to the cluster.
/// </summary>
public sealed class ClusterTls
{
    private readonly X509Certificate2? _authority;

    private ClusterTls(X509Certificate2 certificate, X509Certificate2? authority)
    {
        Certificate = certificate;
        _authority = authority;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Loads the configured files, or returns null when TLS is off. Errors name the file and the problem.</summary>
    public static ClusterTls? Load(TlsSettings settings)
    {
        if (!settings.Enabled) return null;
        settings.EnsureValid();
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(settings.CertificatePath!, settings.CertificatePassword,
                X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException error)
        {
            throw new ArgumentException($"Cluster:Tls:CertificatePath '{settings.CertificatePath}' could not be read as a PKCS#12 file with that password: {error.Message}");
        }
        if (!certificate.HasPrivateKey)
            throw new ArgumentException($"Cluster:Tls:CertificatePath '{settings.CertificatePath}' holds no private key; a node needs its own key for mutual TLS");
        X509Certificate2? authority = null;
        if (settings.AuthorityPath is { } authorityPath)
        {
            try
            {
                authority = X509CertificateLoader.LoadCertificateFromFile(authorityPath);
            }
            catch (CryptographicException error)
            {
                throw new ArgumentException($"Cluster:Tls:AuthorityPath '{authorityPath}' is not a certificate (PEM or DER): {error.Message}");
            }
        }
        var tls = new ClusterTls(certificate, authority);
        if (!tls.Accepts(certificate))
            throw new ArgumentException($"Cluster:Tls:CertificatePath '{settings.CertificatePath}' is not signed by Cluster:Tls:AuthorityPath '{settings.AuthorityPath}'; peers would refuse it");
        return tls;
    }

    /// <summary>Builds from certificates already in memory (tests).</summary>
    public static ClusterTls FromCertificates(X509Certificate2 certificate, X509Certificate2? authority) => new(certificate, authority);

    public bool Accepts(X509Certificate? peer)
    {
        if (peer is null) return false;
        using var presented = X509CertificateLoader.LoadCertificate(peer.GetRawCertData());
        if (_authority is null) return presented.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        return chain.Build(presented);
    }

    /// <summary>For SslStream: accept exactly the peers <see cref="Accepts"/> accepts, whatever the platform's own verdict.</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) => Accepts(certificate);
}
