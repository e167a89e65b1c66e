"""Operations dashboard for the enrollment back end of a health insurance marketplace."""
