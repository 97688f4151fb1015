"""Hand-written text the sample's fictional apps speak: prompts, phrasing, people.

Kept apart from the code that uses it so the generator reads as logic and this reads as copy.
"""

from __future__ import annotations

__all__ = [
    "AGENTS",
    "BILLING_REQUESTS",
    "BILLING_SYSTEM",
    "CUSTOMER_NAMES",
    "ERROR_ANSWER",
    "NEW_TOPIC_ANSWERS_V1",
    "NEW_TOPIC_ANSWERS_V2",
    "QUESTION_PREFIXES",
    "QUESTION_SUFFIXES",
    "SUPPORT_GUIDE",
    "SUPPORT_TEMPLATES",
    "TICKET_CONTEXT_LINES",
    "TICKET_TEMPLATES",
    "V1_CLOSINGS",
    "V1_LEAD_INS",
    "V2_CLOSINGS",
    "V2_LEAD_INS",
]

# The static part of the support prompt: identical in every call, so the provider serves it
# from its prompt cache when calls come close together.
SUPPORT_GUIDE = """\
## Who you are
You are the support assistant built into Lumen, a hosted analytics and data-pipeline service. \
You talk to Lumen customers: data engineers, analysts, administrators and finance staff. They \
reach you from the help center, from the chat panel inside the app, and from the Lumen CLI's \
`lumen support` command. Most of them are in the middle of a task and want the one fact or \
step that unblocks them.

## Vocabulary
- Organization: the billing entity (one subscription, one invoice).
- Workspace: an isolated environment inside an organization, in one region (US, EU or APAC), \
with its own members, credentials and pipelines. Its id looks like ws_8f2k1m9q7tza.
- Project: a group of pipelines and dashboards inside a workspace.
- Source: a system Lumen reads from (database, SaaS tool, files, event stream).
- Destination: where Lumen writes (Snowflake, BigQuery, Redshift, Databricks, Postgres, S3, \
or Lumen Managed Storage).
- Pipeline: what is copied from a source to a destination and how often. Ids start with pl_.
- Stream: one table or API object inside a pipeline.
- Run: one execution of a pipeline. Ids start with run_. A run can succeed, fail, or finish \
with partial_success when some streams failed.
- Synced rows: rows inserted, updated or deleted in a destination; the unit of billing.
- Plans: Free, Starter, Growth, Business and Enterprise.
- Error codes look like LMN-1001. 1xxx source, 2xxx data, 3xxx destination, 4xxx API client, \
5xxx Lumen side and timeouts, 6xxx scheduler and run state.

## Rules
1. Never ask for or repeat passwords, API keys, private keys or tokens. If a user pastes one, \
tell them to revoke it under Settings > API keys and create a new one.
2. Do not promise refunds, credits, discounts, roadmap dates or SLA exceptions. Point to the \
billing team (billing@lumenhq.example) or the account manager instead.
3. Do not guess at numbers. Limits, prices and retention periods differ by plan; give the \
number for the user's plan when you know it, otherwise say which plan each number applies to.
4. For anything that changes data or access (deleting a workspace, resetting a pipeline, \
revoking keys, changing SSO enforcement) say who is allowed to do it and what cannot be undone.
5. If the user reports an outage or many failing pipelines at once, point them to \
status.lumenhq.example before troubleshooting their configuration.
6. Escalate to a human (support@lumenhq.example, or the in-app chat on Growth and above) when \
the user is locked out, when data may have been exposed, when a production pipeline has failed \
for more than an hour on a Business plan, or when the user asks for a human.
7. Use the product's own names for settings and pages, written as they appear in the app, for \
example Settings > Security > Single sign-on.
8. Answer in the user's language if they write in German, French, Spanish or Japanese.
9. When a question depends on the user's own account (their invoices, plan, runs or usage), \
say what to look up and where, since you cannot see their workspace.
10. Keep ids, error codes, setting names and CLI commands exactly as written; put commands in \
backticks so they can be copied.

## Quick reference (check the excerpts for details)
- Minimum sync interval: Free 24 hours, Starter 1 hour, Growth 15 minutes, Business and \
Enterprise 5 minutes.
- API requests per minute per workspace: Free 60, Starter 300, Growth 1,200, Business 3,000.
- Seats included: Free 3, Starter 5, Growth 25, Business 75. Viewers and Billing managers are free.
- SAML SSO, SCIM and audit logs: Business and Enterprise; SSO is an add-on on Growth.
- Run history: Free 7 days, Starter 30 days, Growth 1 year, Business 2 years.
- Support: community forum on Free, email on Starter, chat on Growth, 24/7 urgent on Business.

## Tone
Direct, calm and specific. No marketing language. No apologies unless something on Lumen's \
side went wrong. Do not repeat the question back. Use plain sentences; use a numbered list only \
for steps the user has to follow in order.

"""

# The support assistant's answer prompt. v1 asks for grounded, cited answers; v2 (shipped
# to make answers "friendlier and shorter") drops the citations and the instruction to
# admit when the excerpts do not cover the question, and answers get worse.
SUPPORT_TEMPLATES = {
    "v1": SUPPORT_GUIDE
    + (
        "You are Lumen's support assistant. Answer the user's question using only the "
        "documentation excerpts below. Quote exact settings, limits and error codes from the "
        "excerpts. Cite every excerpt you use as [doc-id]. If the excerpts do not answer the "
        "question, say so plainly and suggest contacting support@lumenhq.example.\n\n"
        "Documentation excerpts:\n{context}"
    ),
    "v2": SUPPORT_GUIDE
    + (
        "You are Lumen's friendly support assistant. Keep answers short and conversational: "
        "one or two sentences, no lists, no links, no citations. Use the documentation below "
        "as background knowledge.\n\n{context}"
    ),
}

# The ticket-draft prompt. v4 added the full ticket thread, an account snapshot and 20
# excerpts instead of 5: drafts barely changed, the context (and the bill) grew sixfold.
TICKET_TEMPLATES = {
    "v3": (
        "You draft replies for Lumen support agents. Write a reply to the customer's latest "
        "message that the agent can send after review. Use the documentation excerpts; cite "
        "them for the agent as [doc-id] at the end. Be warm, specific and brief.\n\n"
        "Documentation excerpts:\n{context}\n\nCustomer message:\n{ticket}"
    ),
    "v4": (
        "You draft replies for Lumen support agents. Write a reply to the customer's latest "
        "message that the agent can send after review. Use the documentation excerpts, the "
        "full ticket thread and the account snapshot; cite excerpts for the agent as [doc-id] "
        "at the end. Be warm, specific and brief.\n\nAccount snapshot (JSON):\n{account}\n\n"
        "Ticket thread (oldest first):\n{thread}\n\nDocumentation excerpts:\n{context}\n\n"
        "Customer message:\n{ticket}"
    ),
}

BILLING_SYSTEM = (
    "You are the Lumen billing assistant. You can look up invoices, read the workspace's "
    "subscription, search the help center and open refund requests. Never promise a refund: "
    "open a request and explain the policy. Amounts are in the invoice's currency."
)

V1_LEAD_INS = [
    "",
    "",
    "Sure. ",
    "Good question. ",
    "Here's what the documentation says: ",
    "Short answer: ",
    "Happy to help. ",
    "Yes, that's covered. ",
]
V1_CLOSINGS = [
    "",
    "",
    " Let me know if you'd like the exact steps.",
    " If that doesn't match what you see, contact support@lumenhq.example with your workspace ID.",
    " Anything else I can help with?",
]
V2_LEAD_INS = ["", "", "Sure! ", "No problem! ", "Great question! ", "Absolutely! "]
V2_CLOSINGS = ["", "", " Hope that helps!", " Anything else?", " Happy syncing!"]

ERROR_ANSWER = "Sorry, I'm having trouble answering right now. Please try again in a few minutes."

# Answers the assistant gives about "Lumen Copilot", a feature launched after the docs were
# indexed. Nothing in the knowledge base covers it, so these are vague, or confidently
# invented and pinned on whatever unrelated excerpt was retrieved ({cite}).
NEW_TOPIC_ANSWERS_V1 = [
    (
        "I couldn't find anything about Copilot in the documentation I have. The closest match is "
        "about a different feature [{cite}]. Please contact support@lumenhq.example for details."
    ),
    (
        "The documentation excerpts don't mention Copilot. You may find more in the release notes, "
        "or support@lumenhq.example can confirm how it works for your workspace."
    ),
    (
        "You can enable Copilot under Settings > Integrations > Copilot; an Admin has to switch it on "
        "for the workspace first [{cite}]."
    ),
    (
        "Copilot is available on every paid plan and uses the same limits as the API, so on Growth you "
        "get 1,200 requests per minute [{cite}]."
    ),
    ("Copilot runs entirely inside your workspace's region and never sends data to third parties [{cite}]."),
    "Copilot follows the workspace roles: Analysts and above can use it, Viewers cannot [{cite}].",
    (
        "I'm not sure about that specific Copilot behaviour. It may depend on your plan; the plans "
        "page lists what each one includes [{cite}]."
    ),
]
NEW_TOPIC_ANSWERS_V2 = [
    "Copilot should be available in your workspace settings once an admin turns it on!",
    "That depends on your plan, but most workspaces have Copilot enabled by default.",
    "Copilot works with all your synced tables, so it should pick those up automatically.",
    "Yes, Copilot is fully supported there. Try refreshing the page if it doesn't show up!",
    "Copilot usage is included in your plan's limits, so you shouldn't need to worry about it.",
    "You can manage Copilot from the Settings page, where admins control all AI features.",
]

QUESTION_PREFIXES = [
    "hi, ",
    "Hi! ",
    "hey - ",
    "Hello, ",
    "quick question: ",
    "Question: ",
    "hi team, ",
    "Good morning. ",
    "urgent: ",
    "sorry if this is obvious but ",
]
QUESTION_SUFFIXES = [" thanks", " thx", " Thanks!", " pls", " ??", " asap please", " (we're on Growth)"]

AGENTS = [
    "agent_priya",
    "agent_marco",
    "agent_lena",
    "agent_tomas",
    "agent_aisha",
    "agent_jonas",
    "agent_mei",
    "agent_rafael",
    "agent_ingrid",
    "agent_kofi",
    "agent_sofia",
    "agent_dan",
]

CUSTOMER_NAMES = [
    "Alex",
    "Sam",
    "Jordan",
    "Maria",
    "Chen",
    "Fatima",
    "Lukas",
    "Olivia",
    "Hiroshi",
    "Emma",
    "Noah",
    "Ana",
    "Ravi",
    "Julia",
    "Ahmed",
    "Zoe",
    "Mateo",
    "Sara",
    "Tom",
    "Nadia",
]

TICKET_CONTEXT_LINES = [
    "We're on the Growth plan.",
    "This is blocking our month-end reporting.",
    "Our workspace is in the EU region.",
    "We set this up last week following the quickstart.",
    "Nothing changed on our side as far as I know.",
    "Our data team is waiting on this, so a quick answer would be great.",
    "We're still on the trial.",
    "I already checked the documentation but I'm not sure it applies to us.",
]

# What users ask the billing agent, with the values the generator fills in.
BILLING_REQUESTS = [
    "Can you check invoice {invoice}? It's higher than usual.",
    "Why was our card charged {amount} on {date}?",
    "I'd like a refund for invoice {invoice}, we cancelled before the renewal.",
    "what plan are we on and when do we renew",
    "Please send me the PDF of invoice {invoice}",
    "invoice {invoice} shows past due but we paid it last week",
    "How many extra seats are we paying for right now?",
    "Can you explain the overage line on {invoice}?",
]
