namespace Ftte.Protocol;

/// <summary>The HTTP/2 paths of ftte.v1.Federation's methods (gRPC: "/" service "/" method).</summary>
public static class FederationMethods
{
    public const string Service = "ftte.v1.Federation";
    public const string Enrol = "/" + Service + "/Enrol";
    public const string GetTask = "/" + Service + "/GetTask";
    public const string GetModel = "/" + Service + "/GetModel";
    public const string SubmitUpdate = "/" + Service + "/SubmitUpdate";
    public const string Heartbeat = "/" + Service + "/Heartbeat";
    public const string GetStatus = "/" + Service + "/GetStatus";
    public const string SecureAggregation = "/" + Service + "/SecureAggregation";
}
