"""The sample district's competency frameworks, written as data.

Cedar Ridge is fictional. Its framework borrows the *structure* districts use
(competency -> measurement topic -> learning target, "I can" statements, a
target DOK on each learning target) from the field's reports; the statements
are our own.
"""

from __future__ import annotations

# (code, title/statement, children). Learning targets are (code, statement, target DOK).
MATH = [
    ("CR.MA.RP", "Analyze proportional relationships and use them to solve real-world problems", [
        ("CR.MA.RP.1", "Unit rates", [
            ("CR.MA.RP.1.a", "I can find a unit rate from a table, a graph or a description.", 1),
            ("CR.MA.RP.1.b", "I can compare two rates to decide which deal is better.", 2),
        ]),
        ("CR.MA.RP.2", "Proportional reasoning", [
            ("CR.MA.RP.2.a", "I can tell whether two quantities are in a proportional relationship.", 2),
            ("CR.MA.RP.2.b",
             "I can design and justify a proportional model for a situation in my community.", 3),
        ]),
    ]),
    ("CR.MA.EE", "Write, interpret and solve expressions and equations", [
        ("CR.MA.EE.1", "Equivalent expressions", [
            ("CR.MA.EE.1.a", "I can apply the properties of operations to write equivalent expressions.", 1),
            ("CR.MA.EE.1.b", "I can explain why two expressions are equivalent.", 2),
        ]),
        ("CR.MA.EE.2", "Equations and inequalities", [
            ("CR.MA.EE.2.a", "I can solve one- and two-step equations.", 1),
            ("CR.MA.EE.2.b", "I can write and solve an equation to plan a multi-step project budget.", 3),
        ]),
    ]),
    ("CR.MA.SP", "Use statistics to describe data and draw conclusions", [
        ("CR.MA.SP.1", "Describing distributions", [
            ("CR.MA.SP.1.a", "I can find the mean, median and range of a data set.", 1),
            ("CR.MA.SP.1.b", "I can choose the measure of center that best describes a data set.", 2),
        ]),
        ("CR.MA.SP.2", "Statistical investigations", [
            ("CR.MA.SP.2.a", "I can design a survey, collect data and defend a conclusion from it.", 4),
        ]),
    ]),
]

ELA = [
    ("CR.ELA.RD", "Read closely and analyze complex texts", [
        ("CR.ELA.RD.1", "Key ideas and evidence", [
            ("CR.ELA.RD.1.a", "I can cite text evidence that supports what the text says.", 2),
            ("CR.ELA.RD.1.b", "I can determine a central idea and trace how it develops.", 3),
        ]),
        ("CR.ELA.RD.2", "Vocabulary in context", [
            ("CR.ELA.RD.2.a", "I can use context clues to work out the meaning of a word.", 1),
            ("CR.ELA.RD.2.b", "I can analyze how word choice shapes tone.", 3),
        ]),
    ]),
    ("CR.ELA.WR", "Write clearly for a range of purposes and audiences", [
        ("CR.ELA.WR.1", "Argument writing", [
            ("CR.ELA.WR.1.a", "I can state a claim and support it with relevant evidence.", 3),
            ("CR.ELA.WR.1.b", "I can research, draft and revise an extended argument.", 4),
        ]),
        ("CR.ELA.WR.2", "Conventions", [
            ("CR.ELA.WR.2.a", "I can use punctuation to separate clauses correctly.", 1),
        ]),
    ]),
]

HABITS = [
    ("CR.HOS.C", "Collaboration", [
        ("CR.HOS.C.1", "I can share ideas and build on the ideas of others."),
        ("CR.HOS.C.2", "I can take on a role and follow through for my team."),
    ]),
    ("CR.HOS.P", "Perseverance", [
        ("CR.HOS.P.1", "I can keep working on a hard problem and try new strategies."),
        ("CR.HOS.P.2", "I can use feedback to revise my work."),
    ]),
    ("CR.HOS.S", "Self-direction", [
        ("CR.HOS.S.1", "I can set a learning goal and track my progress toward it."),
    ]),
]

DOK_LEVELS = [
    (1, "Recall and reproduction"),
    (2, "Skills and concepts"),
    (3, "Strategic thinking and reasoning"),
    (4, "Extended thinking"),
]
