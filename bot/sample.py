"""A sample community of about 60 learners for `peermatch demo` (deterministic).

The rows look like a Google Forms export and are loaded through `import_rows`, the same
path as `peermatch import`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

PEOPLE = [
    ("Ana", "Brazil", "America/Sao_Paulo", "Portuguese, English"),
    ("Bola", "Nigeria", "Africa/Lagos", "English"),
    ("Carmen", "Peru", "America/Lima", "Spanish, English"),
    ("Dev", "India", "Asia/Kolkata", "English, Hindi"),
    ("Emma", "United Kingdom", "Europe/London", "English, French"),
    ("Femi", "Nigeria", "Africa/Lagos", "English"),
    ("Giulia", "Germany", "Europe/Berlin", "German, English"),
    ("Hiro", "Philippines", "Asia/Manila", "English"),
    ("Imani", "Kenya", "Africa/Nairobi", "English, Swahili"),
    ("Jorge", "Mexico", "America/Mexico_City", "Spanish"),
    ("Kofi", "Ghana", "Africa/Accra", "English, French"),
    ("Lucia", "Spain", "Europe/Madrid", "Spanish, English"),
    ("Malik", "Egypt", "Africa/Cairo", "Arabic, English"),
    ("Nia", "United States", "America/New_York", "English, Spanish"),
    ("Omar", "Morocco", "Africa/Casablanca", "Arabic, French"),
]
TOPICS = ["Python", "Python", "Python", "Data Science", "Data Science", "Calculus", "Spanish"]
WINDOWS = ["Mon-Fri 18:00-21:00", "Tue/Thu 19:00-22:00", "Sat 10:00-14:00", "Sun 14:00-18:00",
           "Mon/Wed 07:00-09:00", "Fri 22:00-02:00", "Sat-Sun 09:00-12:00", "Wed 12:00-14:00"]
MODES = (["Find a Study Buddy"] * 20 + ["Study group"] * 12 + ["Accountability partner"] * 9
         + ["Offer support to someone"] * 6 + ["I need support (I'm behind / struggling)"] * 13)
SETUPS = ["video", "voice", "text", "any", "any"]
SUPPORT = ["Concepts", "Assignments", "Exam prep", "Motivation"]


def sample_rows(now: datetime, count: int = 60, seed: int = 7) -> list[dict[str, str]]:
    """Rows with Google-Forms-like headers for ``count`` learners who joined over 4 weeks."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        name, country, zone, languages = PEOPLE[i % len(PEOPLE)]
        mode = MODES[i % len(MODES)]
        flexible = i % 9 == 4
        windows = "Flexible" if flexible else ", ".join(rng.sample(WINDOWS, rng.randint(2, 4)))
        joined = now - timedelta(days=rng.uniform(0, 28), hours=rng.uniform(0, 23))
        rows.append({
            "Timestamp": joined.strftime("%Y-%m-%d %H:%M:%S"),
            "User ID": f"{name.lower()}{i // len(PEOPLE) or ''}",
            "Full name": f"{name}{' ' + str(i // len(PEOPLE) + 1) if i >= len(PEOPLE) else ''}",
            "What are you looking for?": mode,
            "Topic / module": TOPICS[rng.randrange(len(TOPICS))],
            "Languages": languages,
            "Time zone": zone,
            "Weekly availability": windows,
            "Cohort": rng.choice(["2026-A", "2026-B"]),
            "Country": country,
            "Preferred setup": rng.choice(SETUPS),
            "Kind of support": rng.choice(SUPPORT),
            "Capacity": str(rng.randint(1, 3)),
            "Stay anonymous?": "yes" if "support (I'm" in mode and i % 2 else "no",
            "Phone": f"0{rng.randint(700000000, 799999999)}",
        })
    return rows
