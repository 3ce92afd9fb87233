"""The AI agent's own tools: what each does (tools.py), and the MCP server offering them (mcp.py)."""

# Where `serve` answers MCP's streamable HTTP transport (CONTRACT section 7). Here, so that
# the HTTP app knows the path without importing the SDK, which only an agent token needs.
MCP_PATH = "/mcp"
