"""workbench for agents: an MCP server over the read door.

==========================  ==========================================================
:mod:`.tools`               what each tool answers: functions over a reader, bounded
:mod:`.server`              :func:`build_server`: the tools on the official MCP SDK
:mod:`.http`                ``/mcp`` on ``workbench serve`` (streamable HTTP in Tornado)
==========================  ==========================================================

``workbench mcp`` serves the tools over stdio; ``workbench serve`` at ``/mcp``. See docs/agents.md.
"""
