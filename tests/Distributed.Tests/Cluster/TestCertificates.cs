using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A throwaway certificate authority and node certificates it signs, written as the files a node is configured
/// with (PKCS#12 for the node, PEM for the authority): the same shapes docs/cluster.md makes with openssl.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public const string Password = "test-password";
    private readonly X509Certificate2 _authority;

    public TestCertificates(string name)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory($"distributed-tls-{name}-").FullName;
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN=Distributed test CA {name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        AuthorityPath = Path.Combine(Directory, "ca.crt");
        File.WriteAllText(AuthorityPath, _authority.ExportCertificatePem());
    }

    public string Directory { get; }
    public string AuthorityPath { get; }

    /// <summary>A node certificate signed by this authority, as a .pfx file; returns its path.</summary>
    public string IssueNode(string nodeName)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={nodeName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(_authority, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        using var withKey = signed.CopyWithPrivateKey(key);
        var path = Path.Combine(Directory, $"{nodeName}.pfx");
        File.WriteAllBytes(path, withKey.Export(X509ContentType.Pkcs12, Password));
        return path;
    }

    public void Dispose()
    {
        _authority.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
