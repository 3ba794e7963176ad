"""What a form asks and how answers are cleaned: the field library, its rules, publishing immutable versions."""
