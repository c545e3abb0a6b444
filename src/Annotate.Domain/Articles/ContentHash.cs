using System.Security.Cryptography;
using System.Text;

namespace Annotate.Domain.Articles;

/// <summary>Content hash of an article text: "sha256:" + lowercase hex of SHA-256 over the UTF-8 bytes. Pure.</summary>
public static class ContentHash
{
    public static string Of(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
