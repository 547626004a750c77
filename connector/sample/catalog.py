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

# Cedar Ridge High School (grades 9-12): content areas, each a competency whose parts are
# the competencies of its courses; a course's credit is earned when its learning targets are
# proficient. (area code, area statement, subject, courses); a course is (course code, course
# title, grade, competency code, competency statement, learning targets (code, statement, DOK)).
HIGH_SCHOOL = [
    ("CR.HS.MA", "Reason quantitatively and model the world with mathematics", "Mathematics", [
        ("ALG1", "Algebra I", "09", "CR.HS.MA.A1", "Model relationships with linear functions", [
            ("CR.HS.MA.A1.a", "I can solve linear equations and inequalities in one variable.", 1),
            ("CR.HS.MA.A1.b", "I can interpret the slope and intercept of a linear model.", 2),
            ("CR.HS.MA.A1.c", "I can build a linear model from data and judge how well it fits.", 3),
        ]),
        ("GEOM", "Geometry", "10", "CR.HS.MA.GE", "Prove and apply geometric relationships", [
            ("CR.HS.MA.GE.a", "I can use the Pythagorean theorem to find unknown lengths.", 1),
            ("CR.HS.MA.GE.b", "I can use similarity and congruence to solve problems.", 2),
            ("CR.HS.MA.GE.c", "I can write a proof about angles, triangles or parallel lines.", 3),
        ]),
        ("ALG2", "Algebra II", "11", "CR.HS.MA.A2", "Analyze families of functions", [
            ("CR.HS.MA.A2.a", "I can rewrite a quadratic to show its zeros and its vertex.", 2),
            ("CR.HS.MA.A2.b", "I can model growth and decay with exponential functions.", 2),
            ("CR.HS.MA.A2.c",
             "I can choose a family of functions to model a situation and defend the choice.", 3),
        ]),
        ("STAT", "Statistics", "12", "CR.HS.MA.ST", "Make and defend inferences from data", [
            ("CR.HS.MA.ST.a", "I can summarize and compare distributions of data.", 2),
            ("CR.HS.MA.ST.b", "I can explain how random sampling supports a conclusion.", 3),
            ("CR.HS.MA.ST.c",
             "I can carry out a statistical investigation and present it to an audience.", 4),
        ]),
    ]),
    ("CR.HS.EN", "Read critically and communicate for real audiences", "English Language Arts", [
        ("ENG9", "English 9", "09", "CR.HS.EN.09", "Analyze literature and its themes", [
            ("CR.HS.EN.09.a", "I can cite strong evidence for what a literary text says.", 2),
            ("CR.HS.EN.09.b", "I can analyze how a theme develops over a whole text.", 3),
            ("CR.HS.EN.09.c", "I can write a literary analysis essay.", 3),
        ]),
        ("ENG10", "English 10", "10", "CR.HS.EN.10", "Build and evaluate arguments", [
            ("CR.HS.EN.10.a", "I can use standard conventions of grammar and usage.", 1),
            ("CR.HS.EN.10.b", "I can evaluate the reasoning and evidence in an argument.", 3),
            ("CR.HS.EN.10.c", "I can write an argument that answers counterclaims.", 3),
        ]),
        ("ENG11", "English 11", "11", "CR.HS.EN.11", "Research and synthesize sources", [
            ("CR.HS.EN.11.a", "I can judge the credibility of a source.", 2),
            ("CR.HS.EN.11.b", "I can analyze an author's rhetoric and its effect.", 3),
            ("CR.HS.EN.11.c", "I can write a research paper that synthesizes many sources.", 4),
        ]),
        ("ENG12", "English 12", "12", "CR.HS.EN.12", "Write and speak for college and career", [
            ("CR.HS.EN.12.a", "I can present ideas to an audience clearly and concisely.", 2),
            ("CR.HS.EN.12.b", "I can analyze a complex text from more than one perspective.", 3),
            ("CR.HS.EN.12.c", "I can write a personal essay that shows my voice.", 3),
        ]),
    ]),
    ("CR.HS.SC", "Investigate the natural world scientifically", "Science", [
        ("BIO", "Biology", "09", "CR.HS.SC.BI", "Explain how living systems work", [
            ("CR.HS.SC.BI.a", "I can describe the structures of a cell and what they do.", 1),
            ("CR.HS.SC.BI.b", "I can explain how traits are inherited.", 2),
            ("CR.HS.SC.BI.c", "I can plan and carry out an investigation of an ecosystem.", 3),
        ]),
        ("CHEM", "Chemistry", "10", "CR.HS.SC.CH", "Explain matter and its interactions", [
            ("CR.HS.SC.CH.a", "I can use the periodic table to predict properties.", 1),
            ("CR.HS.SC.CH.b", "I can balance a chemical equation.", 2),
            ("CR.HS.SC.CH.c", "I can design an experiment on what changes a reaction rate.", 3),
        ]),
    ]),
    ("CR.HS.SS", "Understand history and take part in civic life", "Social Studies", [
        ("USH", "United States History", "11", "CR.HS.SS.US", "Argue from historical evidence", [
            ("CR.HS.SS.US.a", "I can place events in time and explain their sequence.", 1),
            ("CR.HS.SS.US.b", "I can compare the causes of a historical change.", 2),
            ("CR.HS.SS.US.c", "I can write a historical argument from primary sources.", 3),
        ]),
        ("GOV", "Government", "12", "CR.HS.SS.GV", "Explain and use the workings of government", [
            ("CR.HS.SS.GV.a", "I can explain how the branches of government check each other.", 1),
            ("CR.HS.SS.GV.b", "I can analyze a Supreme Court decision and its effects.", 3),
            ("CR.HS.SS.GV.c", "I can plan and carry out a civic action project.", 4),
        ]),
    ]),
]
