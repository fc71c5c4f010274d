"""Operations: wfm doctor, licence usage and the API request budget."""
