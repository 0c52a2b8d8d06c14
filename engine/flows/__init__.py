"""The flow (approval) engine: node types, approver resolvers, instances,
tasks and their actions, time-outs (DESIGN §7, docs/flows.md)."""
