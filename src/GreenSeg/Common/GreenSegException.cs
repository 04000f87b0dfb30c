namespace GreenSeg.Common;

/// <summary>
/// An error the user can act on: the message names the file (when there is one) and the problem.
/// The CLI prints it without a stack trace; anything else is a bug.
/// </summary>
public class GreenSegException : Exception
{
    public GreenSegException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A file that cannot be used as input, with the reason.</summary>
public sealed class InvalidInputException : GreenSegException
{
    public string Path { get; }
    public string Problem { get; }

    public InvalidInputException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }
}
