namespace IocpHybrid.Generator;

// A problem in the header, the options or the environment: reported as one line, exit code 2.
internal sealed class GeneratorException(string message) : Exception(message);
